# The two commands a new user needs: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
PYTEST_ARGS ?=

.PHONY: demo test soak drill bootstrap lint build docs sanity unit integration molecule lab-up lab-down clean

## demo: set everything up, bring the lab up (backups set up with a first full backup of every data
## set, monitoring with Prometheus on mon01), run the main job (the daily inspection), show the backups
demo: bootstrap
	yunwei lab up
	yunwei lab monitoring
	yunwei inspect --profile daily
	yunwei backup status || true

## test: every test: lint, collection build, ansible-test sanity, Molecule, unit and lab integration
## tests (pytest last, so its summary closes the output)
test: bootstrap lint build sanity molecule
	pytest tests/unit tests/integration -m "not soak" $(PYTEST_ARGS)

## soak: the long observation windows left out of `make test` (a healthy lab raises no alert for 5 minutes)
soak: bootstrap
	pytest tests/integration -m soak $(PYTEST_ARGS)

bootstrap: $(VENV)/.bootstrapped

$(VENV)/.bootstrapped: scripts/bootstrap.sh scripts/fontconfig/65-yunwei-cjk-aliases.conf pyproject.toml tests/devtools/pyproject.toml
	bash scripts/bootstrap.sh
	touch $@

lint: bootstrap
	ansible-lint --profile production

## build: the collection tarball and the yunwei wheel in var/dist (what an execution environment installs)
build: bootstrap
	ansible-galaxy collection build --force --output-path var/dist
	pip wheel --quiet --no-deps --wheel-dir var/dist . && rm -rf build

## sanity: ansible-test sanity on the built collection (tests/sanity/run.sh)
sanity: build
	bash tests/sanity/run.sh

## docs: regenerate the tables of docs/inspection.md, backup.md, baseline.md, restore_drill.md, web_quality.md and security.md from the check catalogue
docs: bootstrap
	python -m yunwei.catalogue.docs docs/inspection.md docs/backup.md docs/baseline.md docs/restore_drill.md docs/web_quality.md docs/security.md

unit: bootstrap
	pytest tests/unit $(PYTEST_ARGS)

## drill: the restore tests and drills on the lab, with the long set make test leaves out (docs/restore_drill.md)
drill: bootstrap
	pytest tests/integration/test_restore_drill_lab.py tests/drill $(PYTEST_ARGS)

integration: bootstrap
	pytest tests/integration -m "not soak" $(PYTEST_ARGS)

# Molecule scenarios run on the lab image, which `yunwei lab up` builds once; they run side by side
# (scripts/molecule-all.sh: one log each under var/molecule/). One alone: molecule test -s NAME
molecule: bootstrap
	yunwei lab up
	bash scripts/molecule-all.sh inspection backup baseline

lab-up: bootstrap
	yunwei lab up

lab-down: bootstrap
	yunwei lab down

clean:
	rm -rf var/dist var/runner reports/out bench/out .pytest_cache
