from codealign.cli import main

main()
