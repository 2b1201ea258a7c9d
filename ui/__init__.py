"""The Gradio web UI on top of `qa`; `qa serve` runs `ui.app.serve`."""
