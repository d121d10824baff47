"""The dashboard: pages, live board, reports and the supervisor sign-in."""
