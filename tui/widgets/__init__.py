"""One widget, or a small family, per module. A widget draws what its screen hands it and
posts what the user did as its own nested messages; it never reads the store nor reaches
into its screen. `log_file` and `log_window` are the log view's plain, Textual-free parts."""
