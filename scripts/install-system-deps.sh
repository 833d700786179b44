#!/usr/bin/env bash
# Debian packages the box's tests and demo need: a real PACS (Orthanc + DICOMweb), dcmtk and dicom3tools
# as DICOM peers and oracle, SoftHSM2/OpenSC for the CPS card, xmllint/xmlsec1 as independent XML checkers,
# Chromium for the UI tests, buildah/podman/mmdebstrap/runc to build and run the box's image. Installs only what is missing.
# Arguments name more packages (scripts/bench.sh adds nginx-light, the relay its figures are compared with).
set -euo pipefail
pkgs=(orthanc orthanc-dicomweb dcmtk dicom3tools softhsm2 opensc libengine-pkcs11-openssl libxml2-utils xmlsec1 chromium chromium-driver python3-hl7 curl openssl
      buildah podman mmdebstrap runc "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
