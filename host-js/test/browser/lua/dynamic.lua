return 'built at run time'
