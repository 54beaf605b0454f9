"""The server side: sessions, statuses, serving, registration.

A resource imports what it raises from `errors`, and `files` when it opens files
named by its clients; the rest is the rendered servicer's and main's.
"""
