# The two set-up commands of the README: each creates .venv and installs what it needs.
.PHONY: setup demo test

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/wm train --preset debug

test: setup
	.venv/bin/python -m pytest -n 2 --dist loadfile -q
