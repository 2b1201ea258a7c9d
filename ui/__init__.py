"""The user interfaces on top of `qa`: the command line (`cli.py`, the `qa` command), the Gradio
web app (`app.py`, `qa serve`) and its MCP tools (`tools.py`). Dependencies point one way: these
call `qa`, and `qa` imports nothing from here."""
