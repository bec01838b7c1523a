"""``aurelia view``: a run folder as an offline static site (``site``: data; ``media``: thumbnails, audio)."""
