# The two set-up commands of the README: each creates .venv and installs what it needs.
.PHONY: setup demo test readme-gif

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/wm train --preset debug

test: setup
	.venv/bin/python -m pytest -n 2 --dist loadfile -q

# The README's picture: what the quick-start model (the newest runs/builtin-* run of `make demo`) imagines
# for each key from the held-out (last) episode of the built-in data, beside the truth. The model
# must exist first; another run or output: make readme-gif DEMO_RUN=runs/NAME README_GIF=path.gif
DEMO_RUN ?= $(lastword $(sort $(wildcard runs/builtin-*)))
BUILTIN_DATA ?= $(or $(WM_CACHE_DIR),$(HOME)/.cache/wm)/builtin-breakout-64-balanced-10k.h5
README_GIF ?= docs/each_action.gif

readme-gif:
	@test -n "$(DEMO_RUN)" || { echo "error: no runs/builtin-* run; train the quick-start model with make demo first"; exit 2; }
	@mkdir -p $(dir $(README_GIF))
	.venv/bin/wm rollout $(DEMO_RUN) --each-action --data $(BUILTIN_DATA) --episode -1 --steps 15 --scale 2 --fps 8 -o $(README_GIF)
