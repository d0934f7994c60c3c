#include "ir/IRParser.h"
