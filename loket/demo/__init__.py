"""Demo data: Toko Batik Sari, a batik shop in Yogyakarta, two weeks into using Loket.

``loket demo`` (and ``loket run --demo`` on an empty database) loads it; the sign-in page
shows its logins while they exist.
"""
