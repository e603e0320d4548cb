#!/bin/bash
# deb.sh - the Debian packages of sitesys (packaging/debian), built with
# debhelper from a copy of the tracked tree in $BUILD/deb/src, then
# checked by lintian. The .deb files land in $BUILD/deb/. Exit status 1
# when the build fails or lintian reports an error.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out=$BUILD/deb
src=$out/src

rm -rf "$out"
mkdir -p "$src"
# what git tracks (and what is changed in it), not build products
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 cp --parents -t "$src"
else
	tar --exclude=./build --exclude=./run -cf - . | tar -xf - -C "$src"
fi
cp -r "$src/packaging/debian" "$src/debian"
# the package's make builds into its own tree, whatever BUILD says here
(cd "$src" && env -u BUILD dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
	tail -30 "$out/build.log" >&2
	echo "deb: the build failed; the whole log is $out/build.log" >&2
	exit 1
}
ls "$out"/*.deb
# errors fail; warnings are printed for the record
lintian --fail-on error "$out"/*.changes
