from codealign.testing.server import main

main()
