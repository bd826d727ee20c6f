"""One module per output kind; each lists the files it will produce as render jobs.

Adding an output kind means adding a module here and naming it in ``KINDS``.
"""

from generator.outputs import (
    aliases,
    cards,
    chooser,
    feeds,
    images,
    listings,
    notfound,
    offline,
    pages,
    search,
    sitemap,
    static,
)

KINDS = (static, images, cards, pages, listings, feeds, notfound, chooser, sitemap, aliases,
         offline, search)
