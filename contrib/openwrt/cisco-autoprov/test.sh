#!/bin/sh
# openwrt/packages CI: called with the package name and version.
case "$1" in
cisco-autoprov)
	cisco-autoprov --version 2>&1 | grep -F "$2"
	;;
esac
