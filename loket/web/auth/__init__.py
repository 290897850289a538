"""Sign-in extras: password reset by email, the site's default language before sign-in."""
