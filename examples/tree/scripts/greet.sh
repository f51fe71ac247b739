#!/bin/sh
# Prints the greeting stored next to this script's parent directory.
cat "$(dirname "$0")/../hello.txt"
