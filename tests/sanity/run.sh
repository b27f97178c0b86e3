#!/usr/bin/env bash
# ansible-test sanity - ansible-core's own test suite for collections, what Automation Hub
# certification runs - on the *built* collection (var/dist, `make build`), unpacked where
# ansible-test wants it (.../ansible_collections/yunwei/ops) in a temporary directory outside this
# git checkout (inside it, ansible-test would only see the files git tracks).
#
# ansible-test creates a virtual environment per test and bootstraps pip into each with a script
# it downloads from ci-files.testing.ansible.com, which this machine cannot reach. It looks for that
# script in its cache first (~/.ansible/test/cache/get_pip_<version>.py), so we put a stand-in there
# that takes pip from the interpreter's own ensurepip and then installs the pip version ansible-test
# asks for from the package index (reachable). HOME points at var/sanity/home, so the cache and
# ansible-test's virtual environments belong to this checkout and are reused between runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=$ROOT/var/sanity
TESTS=(validate-modules ansible-doc compile import action-plugin-docs shebang yamllint pep8)
PYTHON_VERSION=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

tarball=$(ls -t var/dist/yunwei-ops-*.tar.gz | head -1)
tmp=$(mktemp -d /tmp/yunwei-sanity.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
coll=$tmp/ansible_collections/yunwei/ops
mkdir -p "$coll" "$WORK/home"
tar -xzf "$tarball" -C "$coll"

export HOME=$WORK/home
pip_version=$(python -c 'from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="'"$PYTHON_VERSION"'"))["pip"])')
cache=$HOME/.ansible/test/cache
mkdir -p "$cache"
cat > "$cache/get_pip_${pip_version//./_}.py" <<'PY'
"""Stand-in for ansible-test's get-pip script (tests/sanity/run.sh): ensurepip, then pip install.
ensurepip runs in a process of its own: it sets PIP_CONFIG_FILE=/dev/null in its environment,
and the install of the requested pip must see the machine's pip configuration (index, CA)."""
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args]))
PY

cd "$coll"
ansible-test sanity --color no --python "$PYTHON_VERSION" ${TESTS[@]/#/--test } "$@"
