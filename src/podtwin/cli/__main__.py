from podtwin.cli import main

main()
