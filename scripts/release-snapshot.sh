#!/usr/bin/env bash
# make release-snapshot: a signed release in dist/, as a real release would
# publish it, for this machine's platform only (linux/amd64 here), built
# offline with the pinned goreleaser (built from the Go module proxy into
# ~/.cache/meridian on first use, ~6 min cold).
#
# It is signed with a throwaway RSA key made for this run in a temporary
# GNUPGHOME (the registries refuse ECC keys), and the signature is checked
# with `gpg --verify` before the script succeeds. The public key is left in
# dist/ (signing-key.asc, signing-key.id) for the testbed's registry to serve.
#
# SNAPSHOT_VERSION (default: internal/version's) is the version of the
# snapshot; examples/ pin 0.1.0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version="${SNAPSHOT_VERSION:-$(sed -n 's/^var Version = "\(.*\)"$/\1/p' internal/version/version.go)}"
[[ -n "$version" ]] || { echo "release-snapshot: no version in internal/version/version.go" >&2; exit 1; }
goreleaser="${GORELEASER:-$(go run ./internal/testbed/cmd/releasetools goreleaser)}"
goos="$(go env GOOS)"; goarch="$(go env GOARCH)"
target="${goos}_${goarch}"
[[ "$goarch" != amd64 ]] || target="${target}_v1" # goreleaser's name for GOAMD64=v1

work="$(mktemp -d)"
trap 'gpgconf --homedir "$work/gnupg" --kill all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"

echo "== throwaway RSA signing key"
gpg --batch --quiet --gen-key <<KEY
Key-Type: RSA
Key-Length: 3072
Key-Usage: sign
Name-Real: meridian release snapshot (throwaway)
Name-Email: release-snapshot@meridian.invalid
Expire-Date: 1d
%no-protection
%commit
KEY
fingerprint="$(gpg --batch --list-secret-keys --with-colons | awk -F: '$1 == "fpr" { print $10; exit }')"
echo "key $fingerprint"

# The full matrix is in .goreleaser.yml; the snapshot builds one target, so
# it takes seconds, not the 14 builds of a release.
config="$work/goreleaser.yml"
sed "s/^    binary: .*/&\n    targets: [$target]/" .goreleaser.yml > "$config"
grep -q "^    targets: \[$target\]" "$config" || { echo "release-snapshot: could not narrow .goreleaser.yml to $target" >&2; exit 1; }

echo "== $("$goreleaser" --version 2>/dev/null | grep -m1 -i 'gitversion' || echo goreleaser) release --snapshot ($version, $target)"
SNAPSHOT_VERSION="$version" GPG_FINGERPRINT="$fingerprint" \
  "$goreleaser" release --snapshot --clean --config "$config" --parallelism 1

sums="dist/terraform-provider-meridian_${version}_SHA256SUMS"
echo "== gpg --verify $sums.sig"
gpg --batch --verify "$sums.sig" "$sums"
# goreleaser#6514: a checksum file that lists its own signature cannot be
# verified by a registry.
if grep -q '\.sig$' "$sums"; then echo "release-snapshot: $sums lists a signature" >&2; exit 1; fi
# The manifest is published beside the archives under the release's name
# (release.extra_files); a snapshot publishes nothing, so put it there.
cp terraform-registry-manifest.json "dist/terraform-provider-meridian_${version}_manifest.json"
(cd dist && sha256sum --check --strict "$(basename "$sums")")

gpg --batch --armor --export "$fingerprint" > dist/signing-key.asc
echo "${fingerprint: -16}" > dist/signing-key.id
echo "release snapshot $version in dist/:"
ls -1 dist/*.zip dist/*SHA256SUMS* dist/*manifest.json dist/signing-key.*
