from lanl.cli import main

main()
