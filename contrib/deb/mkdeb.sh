#!/usr/bin/env bash
# `make deb`: build/deb/berth_<VERSION>_<arch>.deb from the binaries in bin/,
# with dpkg-deb alone (no debhelper). The tree is `make install` with
# PREFIX=/usr; the shared-library Depends come from dpkg-shlibdeps, the rest
# (runtimes, CNI plugins, the tools those plugins run) from control.in.
# Run from the repository root after `make all`.
set -euo pipefail

version=$(cat VERSION)
arch=$(dpkg --print-architecture)
out=build/deb
stage=$out/stage
deb=$out/berth_${version}_${arch}.deb
rm -rf "$stage" "$out/shlibs"
mkdir -p "$stage/DEBIAN" "$out/shlibs/debian"

make --no-print-directory install DESTDIR="$PWD/$stage" PREFIX=/usr \
	UNITDIR=/lib/systemd/system >/dev/null
install -D -m 644 README.md "$stage/usr/share/doc/berth/README.md"
# Debug info stays in bin/; the package ships stripped binaries.
strip --strip-unneeded "$stage"/usr/libexec/berth/berthd "$stage"/usr/bin/berthctl

# dpkg-shlibdeps wants a debian/control to read; a two-stanza one does.
printf 'Source: berth\n\nPackage: berth\nArchitecture: any\n' >"$out/shlibs/debian/control"
bins=()
for f in "$stage"/usr/libexec/berth/* "$stage"/usr/bin/*; do
	[ -L "$f" ] || bins+=("-e$PWD/$f")
done
shlibs=$(cd "$out/shlibs" && dpkg-shlibdeps -O "${bins[@]}" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || {
	echo "mkdeb: dpkg-shlibdeps found no shared-library dependencies" >&2
	exit 1
}

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	-e "s/@SHLIBS@/$shlibs/" contrib/deb/control.in >"$stage/DEBIAN/control"
echo /etc/berth/berth.conf >"$stage/DEBIAN/conffiles"
install -m 755 contrib/deb/postinst contrib/deb/prerm "$stage/DEBIAN/"

dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
rm -rf "$out/shlibs"
echo "$deb"
