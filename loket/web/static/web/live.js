// Live updates (SSE), presence and notifications: the live area fills this in.
