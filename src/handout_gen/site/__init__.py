"""The web pages every printed URL points at, and the unsubscribe endpoint.

``urls`` (which address is the practice's own, and which file serves it) → ``plan`` (which pages
exist, at which paths: the one list ``check``, the build and the preview share) → ``pages``
(contexts and templates) with ``schema`` (JSON-LD, sitemap, Atom) and ``assets`` (stylesheet,
fonts, logo, pictures, handout PDFs) → ``build`` (incremental, into ``output/site/``);
``printed`` collects the URLs handouts, packets and newsletters print and resolves them;
``app`` is the WSGI unsubscribe application.
"""
