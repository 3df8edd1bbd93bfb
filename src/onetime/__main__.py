from onetime.cli import main

main()
