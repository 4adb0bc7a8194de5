"""Every word a person reads, from the message catalogues in `locales/` (Babel/gettext).

Code marks its words with `_()` (a `Message`, rendered later in the reader's locale), `_n()`
for counted words and `_p()` for a word whose meaning needs a context (an enum's value).
`scripts/i18n update` extracts them into `locales/*.pot` and the `.po` files; installing the
package compiles those to `.mo` (setup.py), and the running app only reads the compiled ones.
"""

from loyalty.i18n.catalog import gettext, translate
from loyalty.i18n.locale import DEFAULT_LOCALE, LOCALES, environment_locale, negotiate, normalise, request_locale
from loyalty.i18n.message import Message, _, _n, _p

__all__ = [
    "DEFAULT_LOCALE", "LOCALES", "Message", "environment_locale", "_", "_n", "_p", "gettext", "negotiate", "normalise",
    "request_locale", "translate",
]
