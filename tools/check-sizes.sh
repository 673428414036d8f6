#!/usr/bin/env bash
# Lists C# files under src/ longer than MAX_FILE lines and members (methods, constructors, properties, operators,
# local functions included in their method) longer than MAX_METHOD lines, the house limits of docs/GUIDE
# ("no file in src/ over ~400 lines, no method over ~80 lines").
#
# Usage: tools/check-sizes.sh [dir ...]        (default: src)
#        MAX_FILE=400 MAX_METHOD=80 tools/check-sizes.sh
# Exit status: 0 when nothing is over, 1 otherwise. Needs only bash and a POSIX awk.
#
# Members are found by brace counting: a '{' opened directly inside a type's braces starts a member, its matching '}'
# ends it; the member's length runs from the first line of its signature (after the XML doc and attributes) to that
# '}'. Braces inside strings, character literals and comments are skipped (raw """ strings included); an
# expression-bodied member (=>) has no braces and is not measured. A heuristic: it can be fooled by unusual layouts.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_FILE=${MAX_FILE:-400}
MAX_METHOD=${MAX_METHOD:-80}
dirs=("$@"); [ ${#dirs[@]} -eq 0 ] && dirs=(src)

mapfile -t files < <(find "${dirs[@]}" -name '*.cs' -not -name '*.g.cs' -not -path '*/obj/*' -not -path '*/bin/*' | sort)   # *.g.cs: generated (protoc)
[ ${#files[@]} -eq 0 ] && { echo "no .cs files under ${dirs[*]}"; exit 0; }

awk -v maxFile="$MAX_FILE" -v maxMethod="$MAX_METHOD" '
function reset() { depth = 0; inBlock = 0; inRaw = 0; header = ""; headerLine = 0 }
function report_file(    n) {
    if (FNR_last > maxFile) { fileOver[++nFileOver] = sprintf("%6d  %s", FNR_last, fname); }
}
# name of the member declared by header text h: the identifier just before its parameter list (the parentheses of a tuple return type
# parentheses follow a modifier, not a name, and are passed over), else the last identifier
function member_name(h,    rest, off, p, s, m) {
    rest = h; off = 0
    while ((p = index(rest, "(")) > 0) {
        s = substr(h, 1, off + p - 1)
        while (gsub(/<[^<>]*>/, "", s) > 0) ;            # generic arguments
        sub(/[ \t]+$/, "", s)
        m = s; sub(/.*[^A-Za-z0-9_~]/, "", m)
        if (m != "" && m !~ /^(public|private|protected|internal|static|override|virtual|async|unsafe|readonly|sealed|new|extern|abstract|partial|implicit|explicit)$/) return m
        off += p; rest = substr(h, off + 1)
    }
    m = h; sub(/[ \t]+$/, "", m); sub(/.*[^A-Za-z0-9_]/, "", m)
    return m == "" ? "?" : m
}
function classify(h) {
    if (h ~ /(^|[^A-Za-z0-9_])(class|struct|interface|record|enum|namespace)([^A-Za-z0-9_]|$)/) return "type"
    return "code"
}
FNR == 1 {
    if (fname != "") report_file()
    fname = FILENAME; reset()
}
{
    FNR_last = FNR
    line = $0; n = length(line); i = 1
    if (inBlock) { p = index(line, "*/"); if (p == 0) next; inBlock = 0; i = p + 2 }
    while (i <= n) {
        c = substr(line, i, 1)
        if (inRaw) {                                      # inside a """ raw string until the next """
            if (substr(line, i, 3) == "\"\"\"") { inRaw = 0; i += 3 } else i++
            continue
        }
        two = substr(line, i, 2)
        if (two == "//") break
        if (two == "/*") { p = index(substr(line, i + 2), "*/"); if (p == 0) { inBlock = 1; break } i += p + 3; continue }
        if (substr(line, i, 3) == "\"\"\"") { inRaw = 1; i += 3; continue }
        if (c == "\"") {                                  # regular or verbatim string on one line
            verbatim = i > 1 && substr(line, i - 1, 1) == "@"
            i++
            while (i <= n) {
                d = substr(line, i, 1)
                if (!verbatim && d == "\\") { i += 2; continue }
                if (d == "\"") { if (verbatim && substr(line, i + 1, 1) == "\"") { i += 2; continue } break }
                i++
            }
            i++; continue
        }
        if (c == "\047") {                                # character literal
            if (substr(line, i + 1, 1) == "\\") { p = index(substr(line, i + 2), "\047"); i += p + 2 } else i += 3
            continue
        }
        if (c == "{") {
            kind = "block"
            parentKind = depth > 0 ? kinds[depth] : "type"
            if (classify(header) == "type") kind = "type"
            else if (parentKind == "type") kind = "member"
            depth++; kinds[depth] = kind
            if (kind == "member") { starts[depth] = headerLine > 0 ? headerLine : FNR; names[depth] = member_name(header) }
            header = ""; headerLine = 0; i++; continue
        }
        if (c == "}") {
            if (depth > 0) {
                if (kinds[depth] == "member") {
                    len = FNR - starts[depth] + 1
                    if (len > maxMethod) methodOver[++nMethodOver] = sprintf("%6d  %s:%d %s", len, fname, starts[depth], names[depth])
                }
                depth--
            }
            header = ""; headerLine = 0; i++; continue
        }
        if (c == ";") { header = ""; headerLine = 0; i++; continue }
        if (c == "]" && header ~ /^[ \t]*\[[^\]]*$/) { header = ""; headerLine = 0; i++; continue }  # attribute line
        if (c != " " && c != "\t" && headerLine == 0) headerLine = FNR
        if (headerLine > 0) header = header c
        i++
    }
    if (headerLine > 0) header = header " "
}
END {
    if (fname != "") report_file()
    printf "Files over %d lines: %d\n", maxFile, nFileOver
    for (k = 1; k <= nFileOver; k++) print fileOver[k]
    printf "Members over %d lines: %d\n", maxMethod, nMethodOver
    for (k = 1; k <= nMethodOver; k++) print methodOver[k]
    exit (nFileOver + nMethodOver > 0) ? 1 : 0
}' "${files[@]}"
