"""One reader per file format: raw bytes -> `ExtractedText` (text, title, pages, line map).

Each format is a module here (`text`, `markdown`, `rst`, `html`, `pdf`, `office`, `epub`,
`mail`, `notebook`, `table`); `docsearch.documents` imports the one a file needs when it needs
it, so this package imports nothing itself.
"""
