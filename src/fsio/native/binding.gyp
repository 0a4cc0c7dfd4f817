{
  "targets": [
    {
      "target_name": "exchange",
      "sources": ["exchange.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
