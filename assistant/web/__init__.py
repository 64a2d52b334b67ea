"""The web chat (Gradio).

app.create_app: the chat page: answers, cited sources, filters, export, uploads
render: the HTML of sources, documents and the legend (document text stays inert)
upload: the "Add documents" form and its jobs
"""
