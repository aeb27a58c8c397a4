"""The plumbing's tests: the template owns them and `make update` changes them."""
