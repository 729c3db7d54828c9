// Links the generated one-header-per-TU sources; building it is the test.
int main() { return 0; }
