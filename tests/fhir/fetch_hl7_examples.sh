#!/bin/sh
# Fetch the whole official HL7 FHIR R4 examples package (hl7.fhir.r4.examples 4.0.1, CC0-1.0, 191 MB
# unpacked) and run painkg's HL7-example tests over every Condition, Observation, Patient and Bundle
# in it, not only the subset vendored in tests/fhir/hl7-examples/ (see its PROVENANCE.md).
#
#   sh tests/fhir/fetch_hl7_examples.sh [DIR]      # DIR defaults to /tmp/hl7.fhir.r4.examples
#
# Needs npm (the registry client) and a painkg virtualenv on PATH (python -m pytest).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:-/tmp/hl7.fhir.r4.examples}
tarball=hl7.fhir.r4.examples-4.0.1.tgz
mkdir -p "$dest"
cd "$dest"
[ -f "$tarball" ] || npm pack hl7.fhir.r4.examples@4.0.1
echo "dce87f1b5b9341867033f7d1f544fa1b5232503f6d62813887ac6b8a8b6cb682  $tarball" | sha256sum -c -
[ -d package ] || tar xzf "$tarball"
cd "$here"
PAINKG_HL7_EXAMPLES="$dest/package" python -m pytest -q tests/test_record_claims.py -k official_hl7_examples
