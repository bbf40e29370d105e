"""The pages shown during sign-in: a connection chooser and a generic error page.

An error page names no rule and no value an attacker could use. It gives a
reference that the IT admin finds in the log next to the stable error code.
"""

from html import escape

from fastapi.responses import HTMLResponse

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
    "padding:0 1rem;color:#222}a{display:block;margin:.5rem 0}"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style>"
        f"<h1>{escape(title)}</h1>{body}</html>"
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    # No form-action directive: browsers apply it to the redirects that
    # follow a form post too, and the discovery form and the logout
    # confirmation redirect to the IdP or to the app.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    return response


def error_page(reference: str, status: int = 400) -> HTMLResponse:
    body = (
        "<p>We could not sign you in. Please contact your IT administrator and "
        f"give them this reference: <code>{escape(reference)}</code></p>"
    )
    return _page("Sign-in failed", body, status)


def no_connection_page() -> HTMLResponse:
    body = (
        "<p>Single sign-on is not available for that address or organization. "
        "If you expected it, contact your IT administrator.</p>"
    )
    return _page("Sign in", body)


def chooser_page(options: list[tuple[str, str]]) -> HTMLResponse:
    """List the connections a user may choose from, as (name, start URL) pairs."""
    links = "".join(
        f'<a href="{escape(url, quote=True)}">{escape(name)}</a>'
        for name, url in options
    )
    return _page("Choose how to sign in", f"<p>Sign in with:</p>{links}")


def _hidden_fields(values: dict[str, str]) -> str:
    return "".join(
        f'<input type=hidden name="{escape(name, quote=True)}" '
        f'value="{escape(value, quote=True)}">'
        for name, value in values.items()
    )


def discovery_page(action: str, hidden: dict[str, str]) -> HTMLResponse:
    """Ask for a work email, keeping the login's other parameters as hidden fields."""
    fields = _hidden_fields(hidden)
    body = (
        f'<form method=get action="{escape(action, quote=True)}">{fields}'
        "<label>Work email <input type=email name=email required "
        "autocomplete=email></label> <button>Continue</button></form>"
    )
    return _page("Sign in", body)


def logout_confirm_page(action: str, hidden: dict[str, str]) -> HTMLResponse:
    """Ask the user to confirm signing out; the form posts ``hidden`` to ``action``."""
    fields = _hidden_fields(hidden)
    body = (
        f'<form method=post action="{escape(action, quote=True)}">{fields}'
        "<p>Do you want to sign out?</p><button>Sign out</button></form>"
    )
    return _page("Sign out", body)


def home_page(signed_in: bool) -> HTMLResponse:
    """Show whether the browser has a session, with a way to sign out or in."""
    if signed_in:
        body = (
            "<p>You are signed in.</p>"
            "<form method=post action=/sso/logout><button>Sign out</button></form>"
        )
    else:
        body = (
            "<p>You are not signed in. Sign in from your app, or "
            "<a href=/sso/login>with your work email</a>.</p>"
        )
    return _page("scimbridge", body)


def signed_out_page() -> HTMLResponse:
    return _page("Signed out", "<p>You are signed out.</p>")
