"""One module per case; each returns the figures that go into results.json under data["cases"][name]."""
