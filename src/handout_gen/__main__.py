from handout_gen.cli import main

main()
