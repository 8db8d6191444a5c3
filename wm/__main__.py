from wm.cli.app import main

main()
