"""`docsearch tune`: adapt the encoder to an index's own text (see `docsearch.tuning.run`)."""
