/**
 * The component files the map references, per type: what the orphan pass must spare
 * (invariant 2: only files nothing references are orphans). Kept as one set of names per type
 * rather than one `<type>s/<name>` string per file because the orphan pass asks about every
 * file of the tree: on 100,000 components, building and hashing those strings cost about
 * 150 ms of the start-up reconcile (bench/tools/profile-startup.mjs).
 */
export class ReferencedNames {
  private readonly byType = new Map<string, Set<string>>();

  /** Notes that the map references `<type>s/<name>`. */
  add(type: string, name: string): void {
    let names = this.byType.get(type);
    if (!names) this.byType.set(type, (names = new Set()));
    names.add(name);
  }

  /** True if the map references `<type>s/<name>`. */
  has(type: string, name: string): boolean {
    return this.byType.get(type)?.has(name) ?? false;
  }

  /** The referenced names in the directory `typeDirName` (`<type>s`), or undefined if none. */
  inDir(typeDirName: string): ReadonlySet<string> | undefined {
    return typeDirName.endsWith('s') ? this.byType.get(typeDirName.slice(0, -1)) : undefined;
  }

  /** Every referenced `[type, name]`, type by type. */
  *[Symbol.iterator](): IterableIterator<[type: string, name: string]> {
    for (const [type, names] of this.byType) for (const name of names) yield [type, name];
  }

  /** A copy, to add to without changing this one. */
  copy(): ReferencedNames {
    const out = new ReferencedNames();
    for (const [type, names] of this.byType) out.byType.set(type, new Set(names));
    return out;
  }
}
