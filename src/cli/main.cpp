#include "cli/app.h"

int main(int argc, char** argv) { return elab::run_cli(argc, argv); }
