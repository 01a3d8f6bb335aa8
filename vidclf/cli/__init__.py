"""The ``vidclf`` command and its subcommands (run, train, evaluate, export, info)."""
