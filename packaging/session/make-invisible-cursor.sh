#!/bin/sh
# Writes the kiosk's invisible mouse pointer: an Xcursor file with one fully
# transparent 1x1 image (nominal size 24). cage and the app load their pointer
# from the theme "kiosk-invisible" (XCURSOR_PATH/XCURSOR_THEME in kiosk.service),
# so no pointer is ever drawn on the touch screen. The file is committed as
# cursors/kiosk-invisible/cursors/left_ptr; packaging/tests/run.sh checks that it
# still equals what this script writes.
#
# Format (little-endian u32s): file header "Xcur", 16, version 1.0, 1 TOC entry;
# TOC entry: image type 0xfffd0002, nominal size 24, chunk at byte 28; image chunk:
# header 36, type, size 24, version 1, width 1, height 1, hotspot 0 0, delay 0;
# then one ARGB pixel 0x00000000.
set -eu
out="${1:?usage: make-invisible-cursor.sh OUTPUT_FILE}"
{
    printf 'Xcur\020\000\000\000\000\000\001\000\001\000\000\000'
    printf '\002\000\375\377\030\000\000\000\034\000\000\000'
    printf '\044\000\000\000\002\000\375\377\030\000\000\000\001\000\000\000'
    printf '\001\000\000\000\001\000\000\000\000\000\000\000\000\000\000\000'
    printf '\000\000\000\000\000\000\000\000'
} >"$out"
