// One translation unit per command keeps rebuilds of the CLI short.
#include "commands/exafs.hpp"
