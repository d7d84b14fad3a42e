#!/bin/sh
# Installs the mixpeek CLI: downloads the binary for this OS and CPU from a GitHub release, checks it
# against the release's SHA256SUMS, and puts it in ~/.local/bin (or $MIXPEEK_INSTALL_DIR).
#
#   curl -fsSL https://github.com/mixpeek/mixpeek-cli/releases/latest/download/install.sh | sh
#   curl -fsSL …/install.sh | MIXPEEK_VERSION=v0.1.0 MIXPEEK_INSTALL_DIR=/usr/local/bin sh
#
# Environment:
#   MIXPEEK_VERSION       release tag to install, e.g. v0.1.0 (default: the latest release)
#   MIXPEEK_INSTALL_DIR   where the binary goes (default: ~/.local/bin)
#   MIXPEEK_REPO          GitHub owner/name to download from (default: mixpeek/mixpeek-cli)
#   MIXPEEK_DOWNLOAD_URL  base URL of the release assets, overriding the two above (mirrors, tests)
#   MIXPEEK_TARGET        the platform triple to install, instead of detecting it
#
# Exit codes: 0 installed · 1 download, checksum or install failed (nothing is installed) · 2 unsupported
# platform or missing tool.
set -eu

fail() {
  echo "install.sh: $2" >&2
  exit "$1"
}

need() {
  command -v "$1" >/dev/null 2>&1
}

# The release's name for this platform (what `deno task compile` builds: mixpeek-<target>[.exe]).
detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case "$arch" in
    x86_64 | amd64) arch=x86_64 ;;
    arm64 | aarch64) arch=aarch64 ;;
    *) fail 2 "unsupported CPU: $arch (binaries exist for x86_64 and aarch64)" ;;
  esac
  case "$os" in
    Linux) echo "$arch-unknown-linux-gnu" ;;
    Darwin)
      # An x86_64 shell under Rosetta on Apple silicon still gets the native binary.
      if [ "$arch" = x86_64 ] && [ "$(sysctl -n hw.optional.arm64 2>/dev/null || echo 0)" = 1 ]; then
        arch=aarch64
      fi
      echo "$arch-apple-darwin"
      ;;
    MINGW* | MSYS* | CYGWIN*)
      [ "$arch" = x86_64 ] || fail 2 "unsupported CPU on Windows: $arch (x86_64 only)"
      echo "x86_64-pc-windows-msvc"
      ;;
    *) fail 2 "unsupported OS: $os (Linux, macOS and Windows are)" ;;
  esac
}

download() { # url file
  if need curl; then
    curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"
  elif need wget; then
    wget --quiet --tries=3 --output-document="$2" "$1"
  else
    fail 2 "curl or wget is needed to download $1"
  fi
}

sha256() { # file → hex digest
  if need sha256sum; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif need shasum; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif need openssl; then
    openssl dgst -sha256 "$1" | sed 's/^.*= //'
  else
    fail 2 "sha256sum, shasum or openssl is needed to verify the download"
  fi
}

target=${MIXPEEK_TARGET:-$(detect_target)}
asset="mixpeek-$target"
case "$target" in *windows*) asset="$asset.exe" ;; esac
repo=${MIXPEEK_REPO:-mixpeek/mixpeek-cli}
if [ -n "${MIXPEEK_DOWNLOAD_URL:-}" ]; then
  base=${MIXPEEK_DOWNLOAD_URL%/}
elif [ -n "${MIXPEEK_VERSION:-}" ]; then
  base="https://github.com/$repo/releases/download/$MIXPEEK_VERSION"
else
  base="https://github.com/$repo/releases/latest/download"
fi
dir=${MIXPEEK_INSTALL_DIR:-${HOME:?HOME is not set; set MIXPEEK_INSTALL_DIR}/.local/bin}
name=mixpeek
case "$target" in *windows*) name=mixpeek.exe ;; esac

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t mixpeek)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "install.sh: downloading $asset from $base" >&2
download "$base/SHA256SUMS" "$tmp/SHA256SUMS" || fail 1 "cannot download $base/SHA256SUMS"
download "$base/$asset" "$tmp/$asset" || fail 1 "cannot download $base/$asset (is $target released?)"

expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1 }' "$tmp/SHA256SUMS" | head -n 1)
[ -n "$expected" ] || fail 1 "SHA256SUMS has no line for $asset; nothing was installed"
actual=$(sha256 "$tmp/$asset")
if [ "$actual" != "$expected" ]; then
  fail 1 "checksum mismatch for $asset: expected $expected, got $actual; nothing was installed"
fi

mkdir -p "$dir" || fail 1 "cannot create $dir (set MIXPEEK_INSTALL_DIR to a folder you can write)"
chmod 755 "$tmp/$asset"
# Copy next to the destination, then rename: a running or half-copied binary is never left in place.
cp "$tmp/$asset" "$dir/.$name.partial" || fail 1 "cannot write to $dir (set MIXPEEK_INSTALL_DIR)"
mv -f "$dir/.$name.partial" "$dir/$name" || fail 1 "cannot install $dir/$name"

echo "install.sh: installed $dir/$name (sha256 $actual)" >&2
"$dir/$name" --version >/dev/null 2>&1 || echo "install.sh: warning: $dir/$name --version did not run" >&2
case ":${PATH:-}:" in
  *":$dir:"*) ;;
  *) echo "install.sh: add $dir to your PATH, e.g.: export PATH=\"$dir:\$PATH\"" >&2 ;;
esac
echo "$dir/$name"
