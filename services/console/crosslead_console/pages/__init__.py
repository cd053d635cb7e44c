"""The console's pages, one module per area; each route is: read input, call the API, render."""
