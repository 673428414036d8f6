#!/usr/bin/env bash
# Installs the Debian packages that hold DeepSharp's real datasets (Fashion-MNIST, the fortunes text corpus), and tmux, when
# they are missing and this machine can install them (root with apt-get). Elsewhere it prints what to do and succeeds.
missing=()
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
[ -d /usr/share/games/fortunes ] || missing+=(fortunes)
command -v tmux >/dev/null || missing+=(tmux)              # the CLI's terminal display test runs the command in tmux
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} (Debian packages with the datasets)..." >&2
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || echo "warning: could not install ${missing[*]}; pass --data DIR or --download to 'deepsharp train'" >&2
else
  echo "note: ${missing[*]} not installed; run 'sudo apt-get install ${missing[*]}' or pass --data DIR / --download" >&2
fi
exit 0
