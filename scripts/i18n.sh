#!/usr/bin/env bash
# Re-extract msgids from bot/ into locales/messages.pot and merge them into every language's .po.
# Translate the new/fuzzy entries afterwards; tests/test_i18n.py fails until every one is done.
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel extract -k _ -k __ -k gettext -k lazy_gettext -k ngettext:1,2 \
    --no-location --sort-output --omit-header -o locales/messages.pot bot
for lang in en ru ar; do
    po="locales/$lang/LC_MESSAGES/messages.po"
    if [ -f "$po" ]; then
        pybabel update -i locales/messages.pot -d locales -l "$lang" --no-fuzzy-matching --ignore-obsolete
    else
        pybabel init -i locales/messages.pot -d locales -l "$lang"
    fi
done
