"""Server-rendered pages (Jinja2) for jobseekers, counsellors and data scientists, on the same app."""
