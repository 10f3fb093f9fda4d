# nvr-hub: `make run` starts the hub, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_STAMP := .venv-apt.stamp

.PHONY: run test lint typecheck pytest system-deps bench clean

run: $(STAMP)
	$(BIN)/nvr-hub db upgrade
	$(BIN)/nvr-hub serve

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict nvr_hub integrations

pytest: $(STAMP)
	$(BIN)/pytest -W error -q $(PYTEST_ARGS)

# Debian packages listed in .ci/apt-packages.txt (ffmpeg, the GStreamer RTSP server...).
system-deps: $(APT_STAMP)
$(APT_STAMP): .ci/apt-packages.txt
	@pkgs="$$(grep -v '^#' .ci/apt-packages.txt | xargs)"; \
	if dpkg-query -W -f='$${Status}\n' $$pkgs 2>/dev/null | grep -qv 'install ok installed' \
	   || [ "$$(dpkg-query -W -f='$${Status}\n' $$pkgs 2>/dev/null | wc -l)" -ne "$$(echo $$pkgs | wc -w)" ]; then \
	  echo "Installing system packages: $$pkgs"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$pkgs; \
	fi
	@touch $@

$(STAMP): pyproject.toml $(APT_STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

bench: $(STAMP)
	$(BIN)/python bench/db_recordings.py

clean:
	rm -rf $(VENV) $(APT_STAMP) .mypy_cache .pytest_cache .ruff_cache
